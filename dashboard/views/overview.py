import streamlit as st

st.title("Clinic overview")
