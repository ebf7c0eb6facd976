"""An index of a folder of recordings: every window embedded and scored once, then searched.

``build`` (the job: :func:`engine.index.build.index_job`), ``store`` (the on-disk form: float16
rows and a journal), ``search`` (more like this), ``queue`` (what to label next), ``projection``
(the map's two PCA axes). The app and ``main.py index`` / ``similar``
call these; docs/INDEX.md describes the whole loop and measures it.
"""
