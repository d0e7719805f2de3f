//! Softmax regression (multinomial logistic regression) on the fused loss kernel.
