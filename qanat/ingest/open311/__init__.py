"""The Open311 GeoReport v2 client: qanat pulls an upstream system's service requests,
posts their status back, and forwards requests to another body's endpoint."""
