"""Reports of DESIGN section 11: the PermenPAN-RB 35/2012 forms, their PDF and Excel files, and
the period digest."""
