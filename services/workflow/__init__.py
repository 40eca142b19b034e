"""The workflow engine (docs/design.md, "Workflow"): cases, visits and the append-only event trail.

`model` is the pure state machine of one case; `engine` runs it against the database one
action at a time (forms, API); `replay` runs it over a whole event log and stores the result in
bulk (CSV import, demo data). Both paths apply exactly the same rules.
"""
