"""Publishing: the organisation's own services and locations, their lifecycle and the events that announce them."""
