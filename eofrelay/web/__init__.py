"""
What eofrelay's HTTP listeners share: limits on their connections.
"""
