"""Parts of the Audit tab (:class:`gui.audit_view.AuditView`) over one Qt-free
:class:`engine.datasets.session.DatasetSession`: table, side panel and clip panel, preview (decode, draw,
play, saliency), ranking runner, keyboard commands, and the jobs they run (``worker``)."""
