"""The reference directory as the other services hold it: followed from the reference-data topic, never a file."""
