"""The run engine: run one scenario against a started target, in its own run directory,
with live progress, and clean up what a killed run left behind."""
