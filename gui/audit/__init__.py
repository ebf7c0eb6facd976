"""Parts of the Audit tab (:class:`gui.audit_view.AuditView`): clip table, clip panel, ranking worker."""
