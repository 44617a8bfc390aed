"""The ``paperdesk`` command line; empty so that importing one command module loads nothing else."""
