"""rafka's own Producer, Consumer and Admin over an in-process or TCP transport."""
