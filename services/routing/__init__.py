"""Routing: Every concern reaches someone who can help, and is chased until it is answered."""
