"""RCS: the attention net that maps a photo to face and hair distribution maps, its weak
labels from the face mesh and the person mask, and its pre-training."""
