CREATE SOURCE s (device TEXT) WITH (connector = 'datagen');
