'use strict';
require('./mockrun.js')('main.js');
