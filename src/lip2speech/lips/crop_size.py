"""The side of the grey face crops a lip track stores by default; its own module so that readers of features
(data/) know it without importing the OpenCV front end."""

FACE_SIZE = 64  # px
