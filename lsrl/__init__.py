"""lsrl: a language and compiler from programs and finite automata to exact recurrent models."""
__version__ = "0.1.0"
