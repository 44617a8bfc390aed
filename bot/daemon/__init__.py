"""The daemon (``paperdesk run``): runner, scheduler, exchange calendars, monitor and notifications."""
