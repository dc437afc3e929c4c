"""Graph passes, each a pure function of graphs: jvp, linearize, transpose, vmap, and the
cleanups (dce, cse, simplify) that every transform ends with."""
