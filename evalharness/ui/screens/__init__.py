"""The app's pages (not `pages/`: Streamlit would run the files of a `pages/` folder as pages of their own), one
module each with `render(folders)`; keys of their widgets are listed in `app`'s
docstring."""
