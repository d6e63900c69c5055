"""The app's pages, one module each with `render(folders)`; keys of their widgets are listed in `app`'s
docstring."""
