'use strict';
require('./mockrun.js')('post.js');
