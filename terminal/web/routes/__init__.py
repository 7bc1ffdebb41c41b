"""The terminal's pages, one router per page or family (docs/ui.md): each parses the request,
calls checkout under the terminal's lock and renders; `terminal/web/app.py` mounts them."""
