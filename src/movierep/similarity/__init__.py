"""Movies2Scenes pseudo-labels: movie similarity, shot adjacency, scene pairs."""
