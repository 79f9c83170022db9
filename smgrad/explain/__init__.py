"""The commands that show the maths: ``jacobian`` (the matrices and their structure),
``sweep`` (error against step), ``derive`` (the derivation, evaluated), ``plot`` (the
sweep as a figure); their views are in :mod:`.views`, their commands in :mod:`.commands`."""
