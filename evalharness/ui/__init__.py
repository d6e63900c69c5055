"""The browser app over results folders (`evalharness ui RESULTS_DIR...`, or `streamlit run
evalharness/ui/app.py -- DIR...`; extra `ui`).

- `launch`: starting it: `serve` (what `evalharness ui` runs) and `serving` (the app for a `with` block), both
  re-exported here; the folders are checked before the server starts, a missing extra is one line.
- `app`: the Streamlit script: the folders after `--`, one page per module of `screens/`.
- `data`: folders loaded read-only and cached, refused with a message naming the folder or file.
- `views`: the pure logic the pages show (leaderboard view, paired segments, filters, word diffs, p-value
  matrix), plain functions over frames with unit tests; the pages stay thin.
- `screens/`: one module per page (`render(folders)`), drawn by the app. Not `pages/`: Streamlit takes a
  `pages/` folder beside the main script for a multipage app of its own, and on a fresh server a direct URL
  (`/leaderboard`) ran `pages/leaderboard.py` as a script: a blank page.

Nothing here imports Streamlit at module level except the app and the pages: `evalharness --help` stays fast,
and importing this package (for `serve`) imports neither Streamlit nor pandas.
"""

from evalharness.ui.launch import serve, serving

__all__ = ["serve", "serving"]
