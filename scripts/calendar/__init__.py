"""The rotation as a calendar, pure: the events of each feed, iCalendar files and the HTML site."""
