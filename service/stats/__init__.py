"""Usage statistics for coordinators: figure definitions over usage events, never over text."""
