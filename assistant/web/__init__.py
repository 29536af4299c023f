"""The web interface: a FastAPI app serving the chat API, SSE, event intake and a page."""

from assistant.web.app import create_app

__all__ = ["create_app"]
