"""The public suite: questions over third-party data, expected answers from independent code."""
