"""The portal: Danish pages for the people in the field, consultants, municipalities and admins (no business data)."""
