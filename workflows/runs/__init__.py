"""Running approved drafts: the drafted-workflow child, the trusted activity worker, the starter."""
