"""Cameras and AI over GraphQL: the cameras a viewer may see (their algorithms, whether the installed
models can run them and which model serves each, ongoing situations, people-flow series), and category
suggestions for a worker's photo."""
