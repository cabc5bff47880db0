"""The side-by-side benchmark (bench/run): one module per section, each returning its rows and its JSON part."""
