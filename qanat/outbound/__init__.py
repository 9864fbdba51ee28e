"""What qanat sends: staff replies on the citizen's channel and mail to staff."""
