"""The studies: each declares its variants and turns trained sweeps into results and figures."""
