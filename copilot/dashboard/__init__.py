"""View models and wording for the dashboard: plain functions the pages render.

Nothing here imports Streamlit; the pages in ``app_pages/`` only lay out what
these functions return, so the shaping and the wording are tested here.
"""
