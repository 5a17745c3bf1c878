"""Server-rendered pages (Jinja2 templates) and their static files, served by the app itself."""
