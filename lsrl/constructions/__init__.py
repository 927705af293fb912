"""Constructions of exact weights that make a model of some architecture class simulate a DFA."""
