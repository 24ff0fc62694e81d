# Rules of the features stage.
