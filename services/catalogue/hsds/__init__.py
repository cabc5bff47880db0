"""HSDS 3.0: the directory in the Human Services Data Specification's form, its tabular export, and the
import of such a package into the organisation's own catalogue."""
