FROM s;
