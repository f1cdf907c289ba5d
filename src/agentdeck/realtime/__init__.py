"""Real-time delivery: the WebSocket hub, its protocol and the publish helper."""
