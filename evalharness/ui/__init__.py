"""The browser app over results folders (`evalharness ui`, issue 25): app.py is the Streamlit script, its pages
in pages/; `serve` and `serving` (launch.py) start it from Python. Importing this package imports no Streamlit."""

from evalharness.ui.launch import serve, serving

__all__ = ["serve", "serving"]
