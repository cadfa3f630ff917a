"""The batch kind: a program that runs W warm-ups and N measured iterations and prints one JSON line each."""
