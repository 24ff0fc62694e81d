# Rules of the corpora stage.
