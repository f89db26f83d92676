mod fast_count;
