"""The browser app over results folders (`streamlit run evalharness/ui/app.py -- DIR...`; extra `ui`).

- `app`: the Streamlit script: the folders after `--`, one page per module of `screens/`.
- `data`: folders loaded read-only and cached, refused with a message naming the folder or file.
- `views`: the pure logic the pages show (leaderboard view, paired segments, filters, word diffs, p-value
  matrix), plain functions over frames with unit tests; the pages stay thin.
- `screens/`: one module per page (`render(folders)`), drawn by the app. Not `pages/`: Streamlit takes a
  `pages/` folder beside the main script for a multipage app of its own, and on a fresh server a direct URL
  (`/leaderboard`) ran `pages/leaderboard.py` as a script: a blank page.

Nothing here imports Streamlit at module level except the app and the pages: `evalharness --help` stays fast.
"""
