"""vgs: visually grounded speech models and SpokenSTS evaluation.

All logic of the Snakemake workflow lives in this package so that rule scripts, tests and users
import the same code. Rule scripts under ``workflow/scripts`` only unpack the ``snakemake`` object.
"""

__version__ = "0.1.0"
