"""The SOP catalog: definitions, catalog files, the table importer, the linter, flowcharts."""
